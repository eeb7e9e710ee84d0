"""Revenue metrics: the ARR ledger, NRR and GRR, churn rates, cohort retention."""
