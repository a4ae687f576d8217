"""The ``condnet`` command line: thin commands over the library."""
