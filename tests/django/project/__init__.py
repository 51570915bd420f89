"""A small Django project the tests run under gunicorn, uvicorn and the test client."""
