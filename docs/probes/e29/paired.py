import json,sys,math,collections
rows=[json.loads(l) for l in open(sys.argv[1])]
acc=collections.defaultdict(dict); ops={}
for r in rows:
    acc[r['recurrence']][r['doc']]=r['correct_acc']; ops[r['doc']]=r['extra']['ops']
rs=sorted(acc); docs=sorted(ops); N=len(docs)
print('r: '+'  '.join(f"{r}={100*sum(acc[r].values())/N:.1f}%" for r in rs), f'(N={N})')
base=rs[0]
for r in rs[1:]:
    b=sum(1 for d in docs if acc[r][d] and not acc[base][d]); c=sum(1 for d in docs if acc[base][d] and not acc[r][d])
    diff=(b-c)/N; se=math.sqrt(b+c)/N
    print(f"paired r={r} - r={base}: {100*diff:+.1f} ± {100*se:.1f} points (z = {diff/se if se else 0:.2f}; b={b}, c={c})")
by=collections.defaultdict(list)
for d in docs: by[ops[d]].append(d)
print('ops  '+' '.join(f"{o:>5}" for o in sorted(by)))
for r in rs: print(f"r={r:<3}"+' '.join(f"{100*sum(acc[r][d] for d in by[o])/len(by[o]):5.1f}" for o in sorted(by)))
