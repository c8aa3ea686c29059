"""The two personalities a mount is started with: what a dead process's /proc looks like, as
SerenityOS answers it or as Linux does (docs/personalities.md)."""

SERENITY = "serenity"
LINUX = "linux"
PERSONALITIES = (SERENITY, LINUX)
