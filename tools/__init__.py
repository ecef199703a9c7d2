"""Developer tools that are not part of the installed package (generators of test and bench data)."""
