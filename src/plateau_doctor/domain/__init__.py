"""Domain maths at the bottom of the stack: robust medians, model sizes and the published scaling
references, the nanoGPT learning-rate schedule, training memory. Pure functions of numbers, used
by resolve (the run's facts) and analyse (the shared computations) alike; they import nothing of
the package but model."""
