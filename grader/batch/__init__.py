"""``grade batch``: grade a whole class into a gradebook, reports and a class report."""
