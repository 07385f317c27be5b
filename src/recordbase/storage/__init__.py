"""Storage: the only package that imports SQLAlchemy or a database driver."""
