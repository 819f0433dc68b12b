"""The model itself, pure: evidence from events, ability, preferences, the difficulty
controller, the learner state and its fold, and the batch features and fit."""
