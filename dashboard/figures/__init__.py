"""Figure builders, one module per domain: DataFrame in, plotly Figure (or display frame) out.
No Streamlit and no store here, so each is tested on its own."""
