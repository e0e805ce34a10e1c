"""Operator controls: the admin role's API, usage accounting and per-user quotas."""
