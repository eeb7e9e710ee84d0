"""Tasks (calls to action): the CSM inbox; every action has an owner and a due date."""
