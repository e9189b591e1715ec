"""Stage 4: emitters (Keras source, ONNX graph)."""
