"""Portal pages for SLA monitoring: the client's SLA page and its printable monthly reports."""
