"""The /ws blueprint: frame handling, the connection loop, command dispatch."""
