"""plateau-doctor inside a trainer: callbacks that diagnose a run while it trains.

    from plateau_doctor.integrations.hf import PlateauDoctorCallback          # transformers Trainer
    from plateau_doctor.integrations.lightning import PlateauDoctorCallback   # Lightning Trainer

Each fills the same loss table a parser builds from the metrics the trainer logs, diagnoses it at
every eval (one printed line), and leaves report.json and report.html in the run's output
directory at the end. `stop_on="error"` ends the run on an error-level divergence, or on
overfitting beyond noise when there is a checkpoint to go back to; by default a callback never
stops a run, and a failure of its own is logged once and never reaches the training loop.

The trainers are optional extras (`pip install 'plateau-doctor[hf]'` or `[lightning]`): importing
a module whose trainer is missing raises an ImportError that says what to install.
"""
