"""The model lab: the churn, lifetime-value and retention models on a file someone brings,
from the web app and the API (the same code as ``boomerang churn evaluate``, ``boomerang clv``
and ``boomerang retention``)."""
