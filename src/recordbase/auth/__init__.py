"""Credentials: bearer tokens today; OAuth2 clients, users and roles build on this package."""
