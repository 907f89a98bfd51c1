"""The rota's database side: store (rows <-> engine values), edit, queries, rules, commands."""
