# The project root is on sys.path for the tests (manage.py's folder), as it is for manage.py.
