"""Advocacy: references, reviews, case studies and referrals with incentives."""
