"""Reports in the official form: drafting the document, storing it, filing it upward."""
