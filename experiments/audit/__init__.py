"""`routelab audit`: fairness, robustness and transparency of one routing policy.

stresses.py builds the stressed scenarios, measure.py runs and measures
policies, explain.py puts a policy's behaviour into words, page.py writes
audit.html, run.py is the command's work.
"""
