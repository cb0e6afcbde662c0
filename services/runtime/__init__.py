"""The only code that wires collectors: jobs, scheduler, leases, processes, the demo."""
