"""todo-api: the backend of the todo-list app (FastAPI, PostgreSQL, JWT, optional OpenAI chat)."""
__version__ = "1.0.0"
