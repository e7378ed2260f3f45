# E23 (docs/results.md): the look-up drill in the canonical induction form, name and value adjacent and the answer right
# after the asked name ("b6;r9;k4?k4?b6?r9"), so that copying "the token after the earlier occurrence of this token"
# answers it; E20-E22's forms ("k=4" ... "k?4") put a symbol between the name and its value and between the asked name
# and the answer.
# usage: python3 induction-drill.py N_DEFS COUNT SEED OUT.jsonl [train|val]
import json,random,sys
n=int(sys.argv[1]); count=int(sys.argv[2]); seed=int(sys.argv[3]); out=sys.argv[4]; mode=sys.argv[5] if len(sys.argv)>5 else 'train'
r=random.Random(seed); L='abcdefghijklmnopqrstuvwxyz'
with open(out,'w') as f:
    for i in range(count):
        names=r.sample(L,n); vals=r.sample(range(10),n)
        defs=';'.join(f'{a}{v}' for a,v in zip(names,vals))
        if mode=='train':
            order=r.sample(range(n),n)
            f.write(json.dumps({'text':defs+''.join(f'?{names[j]}{vals[j]}' for j in order)})+'\n')
        else:
            j=r.randrange(n); q=defs+f'?{names[j]}'
            f.write(json.dumps({'question':q,'answer':str(vals[j]),'ops':1,'result':vals[j],'text':q+str(vals[j])})+'\n')
