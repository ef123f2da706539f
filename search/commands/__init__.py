"""One module per ``optsearch`` subcommand (see ``search.cli``)."""
