"""Streamlit glue shared by the pages: session keys (state.py), widgets that return plain values, Plotly figures."""
