"""Reading what is published: results, the public files and their cache."""
