"""SeRL Studio's training worker: the model's primitives (sample, train_step, checkpoints) over JSON-RPC.

See ../PROTOCOL.md. Run with ``python -m serl_worker`` from the trainer/ directory.
"""
