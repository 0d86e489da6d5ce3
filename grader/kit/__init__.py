"""The student kit: the data it ships (:mod:`~grader.kit.payload`), its catalog
(:mod:`~grader.kit.catalog`) and how ``grade release`` builds it (:mod:`~grader.kit.release`)."""
