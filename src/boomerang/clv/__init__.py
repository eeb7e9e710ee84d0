"""Customer lifetime value: the RFM summary of a transaction table, the BG/NBD, Pareto/NBD and
Gamma-Gamma models fitted by maximum likelihood, their CLV, and the shifted-beta-geometric
model of contractual retention."""
