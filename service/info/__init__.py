"""Health and server information: ``/health`` and ``/agentx/info``."""
