"""The review pages: jobs, conflicts (with decisions), run history, served as server-rendered HTML."""
