"""One module per command: validate input, call the client, render."""
