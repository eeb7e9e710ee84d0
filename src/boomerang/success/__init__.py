"""Success plans: desired outcomes, objectives, milestones and KPIs per account."""
