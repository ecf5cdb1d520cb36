"""The ground floor: code that knows nothing of jobs, money or teams, which every app may import
and which imports no app."""
