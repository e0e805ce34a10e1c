"""Accounts: passwords, tokens, invite codes, rate limits and the /api/auth routes."""
