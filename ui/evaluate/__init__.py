"""What only the Evaluate page uses: the score section, the run comparison, the sources it can score, its
session rows and its Plotly figures."""
