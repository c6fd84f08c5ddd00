"""Google Drive: the archive store resource, its client, errors and transfers; a local twin."""
