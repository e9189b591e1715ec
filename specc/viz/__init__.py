"""Pictures of models and of training: each module imports matplotlib only inside its functions."""
