"""The staff workspace: a FastAPI app (`hedui serve`) with its own accounts, roles and region scope."""
