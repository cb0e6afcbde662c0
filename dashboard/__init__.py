"""The Streamlit dashboard: pure figure builders and pages that arrange them."""
