"""Media files on this machine: mapping server paths to local ones, probing files, their tracks."""
