"""Adapters to the real-time transports the platform speaks: the MQTT broker (and, in
services/changes.py and services/change_feed.py, Redis pub/sub for wake-ups)."""
