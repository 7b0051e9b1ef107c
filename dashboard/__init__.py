"""madoguchi dashboard: a thin Streamlit layer over geo/ (run dashboard/app.py)."""
