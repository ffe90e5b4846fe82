"""plekwijzer backend: the FastAPI service, split by domain."""
