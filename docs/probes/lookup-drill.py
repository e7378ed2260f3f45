# E20 (docs/results.md): writes the dense look-up drill as JSONL.
# usage: python3 lookup-drill.py N_DEFS COUNT SEED OUT.jsonl [train|val]   (E20: 3 200000 11 and 3 300 2 ... val)
import json,random,sys
# dense look-up drill: n defs name=digit, then every name queried once in random order: "w=0;e=4;y=6.e?4.w?0.y?6"
n=int(sys.argv[1]); count=int(sys.argv[2]); seed=int(sys.argv[3]); out=sys.argv[4]; mode=sys.argv[5] if len(sys.argv)>5 else 'train'
r=random.Random(seed); L='abcdefghijklmnopqrstuvwxyz'
with open(out,'w') as f:
    for i in range(count):
        names=r.sample(L,n); vals=[r.randrange(10) for _ in names]
        defs=';'.join(f'{a}={v}' for a,v in zip(names,vals))
        if mode=='train':
            order=r.sample(range(n),n)
            text=defs+''.join(f'.{names[j]}?{vals[j]}' for j in order)
            f.write(json.dumps({'text':text})+'\n')
        else:
            j=r.randrange(n); q=defs+f'.{names[j]}?'
            f.write(json.dumps({'question':q,'answer':str(vals[j]),'ops':1,'result':vals[j],'text':q+str(vals[j])})+'\n')
