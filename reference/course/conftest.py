# The examples do their work when imported (that is what makes them notebooks), so pytest's
# doctest collection must not import them; tests/test_course.py runs and checks them instead.
collect_ignore_glob = ["[!_]*.py"]
