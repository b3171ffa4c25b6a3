#!/usr/bin/env python3
"""make_set.py: writes the labelled evaluation set in tests/eval/set/ (run once; the output is
committed).  Conversations are composed from hand-written lines: for the grooming set, stage
lines of several styles at several speeds, with ordinary small talk between them; for the
hard negatives, ordinary conversations that contain the same surface signals (ages, secrets,
photos, meeting up, game credit).  Clinical, non-explicit words only.  Deterministic (seeded).
Each file is a chat export in one of the four formats ward reads."""
import csv, io, json, os, random, shutil, datetime

R = random.Random(20261128)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'set')

# ---- grooming: lines per stage, several styles ---------------------------------------------
G = {
 'friendship': ["you're so mature for your age honestly", "ur so pretty, bet everyone tells u that",
   "you're not like other girls your age", "you seem older than you are", "you're so easy to talk to",
   "youre so special, i mean it", "u r so cute lol", "you're really clever for your age",
   "i love talking to you, you always make me smile", "you look amazing in your profile pic"],
 'relationship': ["you can tell me anything, i'm always here for you", "i can't stop thinking about you",
   "do you have a boyfriend?", "u can trust me, i would never hurt you", "i think i'm falling for you",
   "have you ever kissed anyone", "what we have is special, other people wouldn't understand it",
   "will you be my girlfriend?", "i miss you so much when you're offline", "do u have a girlfriend"],
 'risk': ["how old are you?", "what year are you in?", "are your parents strict?",
   "does anyone check your phone?", "do you have your own room", "who else uses your phone?",
   "what time does your mum get home from work", "are your parents asleep yet?", "r u home alone rn",
   "how old r u", "whereabouts do you live?", "which school do you go to", "do your parents check your phone?",
   "im 27, how old r u"],
 'exclusivity': ["nobody understands you like i do", "you only need me", "i'm the only one who really cares about you",
   "you don't need anyone but me", "no one understands you like me"],
 'secrecy': ["this is our little secret ok", "don't tell anyone about us", "dont tell your mum we talk",
   "delete our chat after you read it", "keep this between us", "can you keep a secret? promise not to tell",
   "no one needs to know about us", "don't tell your parents about me, they wouldn't get it"],
 'isolation': ["your parents treat you like a baby", "your friends don't deserve you",
   "your parents don't understand you like i do", "you don't need your friends, you have me",
   "they just want to control you"],
 'platform': ["lets talk somewhere else", "whats ur snap?", "add me on snapchat, it's more private",
   "do u have kik", "message me on telegram where no one can see", "give me your number",
   "lets move to whatsapp, your parents wont see it there"],
 'gifts': ["i'll buy you some robux if you want", "let me spoil you", "i can send you money for a new phone",
   "i'll top up your phone", "i got you something, a gift card", "want me to buy you those trainers?",
   "ill send you a phone your parents dont know about"],
 'image': ["send me a selfie", "what do you look like?", "send me a pic, just for me",
   "can i see a pic of you in bed", "send a pic to prove you're real", "send me more pics of you"],
 'camera': ["can we facetime tonight?", "turn your camera on pls", "video call me when your parents are asleep",
   "lets go on cam, just us", "facetime me when you're alone in your room"],
 'meeting': ["i want to meet you so much", "we should meet up sometime, in real life", "i could pick you up after school",
   "when can we meet?", "meet me after school but don't tell your mum", "i can come to yours when your parents are out"],
 'pressure': ["why are you ignoring me? you promised", "after everything i've done for you", "don't you trust me?",
   "if you loved me you would", "you'll regret it if you block me", "i thought you cared about me"],
}
# the child's answers, some giving details away
CHILD = ["haha thanks", "idk", "lol", "ok", "i'm 13", "year 8", "yeah they're kind of strict",
  "no its my own phone", "my mum works late", "ok i won't tell", "haha ok", "maybe", "i dont know",
  "thats nice of you", "i guess", "ok promise", "ok", "hmm ok"]
CHILD_DETAILS = ["my number is 07700 900123", "i go to Northfield Academy", "i live on Elm Road, number 12",
  "im home alone till 7, my mum is at work till late", "sent my live location", "I walk home on my own most days",
  "my postcode is M1 1AA", "ok heres my num 07700900456"]
SMALL = ["what are you up to", "just watching tv", "did you see the match", "school was so boring today",
  "what music do you like", "i like that song too", "what did you have for tea", "ugh homework",
  "have you played the new game", "its raining again", "what's your favourite film", "lol same",
  "going to get food brb", "back", "my cat is being weird", "what are you doing at the weekend",
  "nothing much", "cool", "haha", "that's funny", "night", "morning!", "how was your day",
  "tired", "same lol", "what subjects do you like", "i hate maths", "art is fun"]

TXT = {"you": "u", "are": "r", "your": "ur", "you're": "ur", "please": "pls", "right now": "rn"}
def txtspeak(s):
    for k, v in TXT.items():
        s = s.replace(' ' + k + ' ', ' ' + v + ' ')
    return s.lower().replace("'", '')

STAGE_ORDERS = [
 ['friendship', 'risk', 'relationship', 'secrecy', 'platform', 'image', 'meeting'],
 ['friendship', 'relationship', 'exclusivity', 'isolation', 'secrecy', 'camera'],
 ['risk', 'gifts', 'platform', 'secrecy', 'image', 'pressure'],
 ['friendship', 'gifts', 'risk', 'secrecy', 'camera', 'pressure'],
 ['friendship', 'risk', 'platform', 'meeting', 'secrecy'],
 ['relationship', 'risk', 'exclusivity', 'secrecy', 'meeting', 'pressure'],
 ['friendship', 'risk', 'gifts', 'image', 'secrecy'],
 ['risk', 'friendship', 'relationship', 'isolation', 'platform', 'camera', 'secrecy'],
]

NAMES_A = ["Jay", "Mike R", "Dan", "Sam_22", "Chris", "Tom", "Alex", "Lee", "Kev", "Rob"]
NAMES_C = ["Ellie", "Mia", "Josh", "Ava", "Leo", "Amelia", "Noah", "Lily", "Zara", "Ollie"]

def grooming(i):
    speed = ['fast', 'medium', 'slow'][i % 3]
    style = ['plain', 'txt', 'plain', 'polite'][i % 4]
    order = list(STAGE_ORDERS[i % len(STAGE_ORDERS)])
    if i % 5 == 0 and 'gifts' not in order:
        order.insert(2, 'gifts')
    a, c = R.choice(NAMES_A), R.choice(NAMES_C)
    msgs = []
    filler = {'fast': (0, 2), 'medium': (2, 5), 'slow': (5, 12)}[speed]
    gap = {'fast': (1, 4), 'medium': (5, 90), 'slow': (60, 60 * 30)}[speed]
    details_given = 0
    for st in order:
        for _ in range(R.randint(*filler)):
            msgs.append((R.choice([a, c]), R.choice(SMALL)))
        n = 1 if speed == 'fast' else R.choice([1, 2])
        for line in R.sample(G[st], min(n, len(G[st]))):
            if style == 'txt':
                line = txtspeak(' ' + line + ' ').strip()
            elif style == 'polite':
                line = line[0].upper() + line[1:]
                if not line.endswith(('?', '.', '!')):
                    line += '.'
            msgs.append((a, line))
            # the child answers; now and then with a detail
            if (st in ('risk', 'platform', 'meeting') and details_given < 2 and R.random() < 0.6):
                msgs.append((c, R.choice(CHILD_DETAILS)))
                details_given += 1
            else:
                msgs.append((c, R.choice(CHILD)))
    return a, c, msgs, gap, speed, style

# ---- hard negatives: ordinary conversations with the same surface signals -----------------
NEG = [
 # friends asking each other's age
 [("Mia", "how old are you? i forgot lol"), ("Zoe", "13 in march, you?"), ("Mia", "same! what year r u in"),
  ("Zoe", "year 8"), ("Mia", "ur so funny honestly"), ("Zoe", "haha thanks"), ("Mia", "whats ur snap?"),
  ("Zoe", "zoe_k12, add me"), ("Mia", "added!"), ("Zoe", "see you at school tomorrow")],
 [("Leo", "when is your birthday"), ("Sam", "june, how old are you"), ("Leo", "12"), ("Sam", "which school do you go to"),
  ("Leo", "Hillside, same as my cousin"), ("Sam", "cool i go to Northfield Academy"), ("Leo", "add me on snap"),
  ("Sam", "ok"), ("Leo", "do you have your own phone"), ("Sam", "yeah got it at christmas")],
 [("Ava", "youre so pretty in that photo"), ("Lily", "stoppp ur gorgeous"), ("Ava", "how old is your sister"),
  ("Lily", "16"), ("Ava", "do your parents let you go to the cinema on your own"), ("Lily", "yeah with my sister"),
  ("Ava", "we should meet at the cinema saturday with everyone"), ("Lily", "yes!!")],
 # families planning surprises
 [("Dad", "don't tell mum, it's a surprise party on Saturday"), ("Ellie", "omg ok i won't tell"),
  ("Dad", "keep it between us, it's a surprise"), ("Ellie", "what are we getting her"), ("Dad", "I'll buy the cake, you make a card"),
  ("Ellie", "can i get her the necklace"), ("Dad", "yes, I'll pay for it, it's her birthday present"),
  ("Dad", "meet me at the shop after school at 4"), ("Ellie", "ok dad"), ("Dad", "delete this chat so she doesn't see the surprise")],
 [("Auntie Jo", "can you keep a secret? it's about Grandma's birthday"), ("Noah", "yes!"), ("Auntie Jo", "we're throwing a surprise party"),
  ("Auntie Jo", "don't tell your mum yet, I want to tell her myself"), ("Noah", "ok"), ("Auntie Jo", "I'll pick you up after school on Friday to buy the present"),
  ("Noah", "can we get balloons"), ("Auntie Jo", "of course, love you x"), ("Noah", "love you too")],
 [("Mum", "are you home alone? dad's running late"), ("Josh", "yeah"), ("Mum", "lock the door, I'll be back by 6"),
  ("Josh", "ok"), ("Mum", "don't tell your sister about the puppy, it's a surprise for her birthday"), ("Josh", "OMG A PUPPY"),
  ("Mum", "shh! our secret until Sunday"), ("Josh", "i promise"), ("Mum", "I'll buy you chips on the way home")],
 [("Grandad", "hello love, you look beautiful in the photo your mum sent"), ("Amelia", "thanks grandad"),
  ("Grandad", "can we video call on Sunday, grandma wants to see you"), ("Amelia", "yes!"),
  ("Grandad", "I'll send you something for your birthday"), ("Amelia", "thank you"), ("Grandad", "don't tell your brother what it is, it's a surprise")],
 # teacher asking for a photo of homework
 [("Mr Patel", "Please send me a photo of your homework by Friday"), ("Ruby", "ok sir"),
  ("Mr Patel", "Turn your camera on for the Teams lesson please"), ("Ruby", "my camera is broken"),
  ("Mr Patel", "No problem. What time do your parents get home? I'd like to call about parents evening"), ("Ruby", "about 6"),
  ("Mr Patel", "Thank you. Send a pic of the worksheet when it's done"), ("Ruby", "will do")],
 [("Ms Green", "Can you send me a picture of your art project?"), ("Kai", "yes miss"), ("Ms Green", "It looks amazing, you're so talented"),
  ("Kai", "thank you"), ("Ms Green", "Let's meet in the library at lunch to finish the poster"), ("Kai", "ok"),
  ("Ms Green", "Please ask your parents to sign the trip form")],
 [("Coach Dave", "Great match today, you're so quick for your age"), ("Finn", "thanks coach"),
  ("Coach Dave", "Training moved to Thursday, meet me at the club at 5"), ("Finn", "ok"),
  ("Coach Dave", "Send me a photo of your kit size label"), ("Finn", "its medium"), ("Coach Dave", "Can your mum or dad give you a lift?"), ("Finn", "yes mum can")],
 # classmates meeting at the park
 [("Jack", "lets meet at the park after school"), ("Ollie", "which park"), ("Jack", "the one by my house, i live on Elm Road"),
  ("Ollie", "whats your address again"), ("Jack", "12 Elm Road, near the shop"), ("Ollie", "ok my number is 07700 900321 text me when ur there"),
  ("Jack", "bring your football"), ("Ollie", "dont tell Sam we're going, he'll want to come lol jk tell him")],
 [("Priya", "wanna meet at the park on saturday?"), ("Hana", "yes! with everyone?"), ("Priya", "yeah the whole class"),
  ("Hana", "my mum will drop me off"), ("Priya", "send me a selfie of your new haircut"), ("Hana", "lol ok"),
  ("Priya", "ur so cute omg"), ("Hana", "stop haha"), ("Priya", "how old is your brother, he can come too")],
 # gaming chat
 [("xXSniperXx", "add me on discord after the match"), ("blockbuilder", "ok"), ("xXSniperXx", "ill send you some robux if we win"),
  ("blockbuilder", "deal"), ("xXSniperXx", "dont tell anyone where our secret base is"), ("blockbuilder", "i wont"),
  ("xXSniperXx", "meet me at the lobby in 5"), ("blockbuilder", "ok"), ("xXSniperXx", "you owe me for that carry lol"),
  ("blockbuilder", "haha fine"), ("xXSniperXx", "how old are you btw"), ("blockbuilder", "12"), ("xXSniperXx", "same")],
 [("GamerGirl", "go on cam for the stream?"), ("pixel_pete", "no my camera is rubbish"), ("GamerGirl", "lol ok, send a pic of your setup"),
  ("pixel_pete", "its just a laptop"), ("GamerGirl", "ill buy you a skin if you carry me in the game"), ("pixel_pete", "deal"),
  ("GamerGirl", "whats your age"), ("pixel_pete", "13"), ("GamerGirl", "cool, i'm 13 too, year 8")],
]
# more negatives, built from ordinary scenes with signals
NEG_SCENES = {
 'family': ["don't tell mum about the surprise party", "keep it between us, it's her birthday", "I'll buy the present",
   "meet me at the shop at 3", "are you home alone? I'll be back soon", "I'll pick you up after school",
   "send me a photo of the card you made", "love you", "can we video call grandma on sunday", "our secret until Sunday, it's a surprise",
   "what time does your mum get home? I want to drop the cake off", "delete this chat so she doesn't see the surprise"],
 'friends': ["how old are you again", "what year are you in", "ur so funny", "whats ur snap", "add me on insta",
   "lets meet at the park with everyone", "send me a selfie of your haircut", "my number is 07700 900111",
   "which school do you go to", "i go to Hillside Academy", "do your parents let you go to the cinema", "youre so pretty in that pic",
   "can you keep a secret? i have a crush on Tom", "dont tell anyone about my crush lol", "can we facetime after homework"],
 'teacher': ["Please send me a photo of your homework", "Turn your camera on for the Teams lesson please",
   "Let's meet in the library at lunch", "What time do your parents get home? I'll call about parents evening",
   "You're so talented, the project looks amazing", "Send a pic of the worksheet", "Can your mum give you a lift to the match?",
   "Please keep the quiz answers between us until Friday"],
 'gaming': ["add me on discord", "ill send you some robux if we win", "meet me at the lobby", "dont tell anyone our secret base",
   "you owe me for that carry lol", "how old are you btw", "go on cam for the stream? lol jk", "whats your age",
   "gg", "that boss was hard", "want to squad up", "my internet is lagging", "free vbucks scam lol dont click it"],
}
NEG_REPLIES = ["ok", "haha", "lol ok", "yes!", "thanks", "cool", "ok see you", "deal", "sure", "omg ok", "no way", "yeah"]
NEG_NAMES = {'family': (["Mum", "Dad", "Auntie Sue", "Nan"], ["Ellie", "Josh", "Ruby"]),
             'friends': (["Mia", "Zoe", "Leo", "Priya"], ["Hana", "Sam", "Ava"]),
             'teacher': (["Mr Jones", "Ms Khan", "Mrs Green"], ["Kai", "Finn", "Ruby"]),
             'gaming': (["xXNinjaXx", "CraftKing", "GamerGirl"], ["pixel_pete", "blockbuilder", "noob_slayer"])}

def negative(i):
    if i < len(NEG):
        msgs = NEG[i]
        return msgs[0][0], msgs[1][0], list(msgs), (1, 30)
    scene = list(NEG_SCENES)[i % len(NEG_SCENES)]
    a, c = R.choice(NEG_NAMES[scene][0]), R.choice(NEG_NAMES[scene][1])
    msgs = []
    for line in R.sample(NEG_SCENES[scene], R.randint(4, 7)):
        for _ in range(R.randint(0, 3)):
            msgs.append((R.choice([a, c]), R.choice(SMALL)))
        msgs.append((a if R.random() < 0.7 else c, line))
        msgs.append((c, R.choice(NEG_REPLIES)))
    return a, c, msgs, (1, 60 * 24)

# ---- writers ------------------------------------------------------------------------------
def times(n, gap):
    t = datetime.datetime(2025, 3, 1, 16, 0, 0) + datetime.timedelta(minutes=R.randint(0, 5000))
    out = []
    for _ in range(n):
        out.append(t)
        t += datetime.timedelta(minutes=R.randint(*gap))
    return out

def write(path, fmt, a, c, msgs, gap):
    ts = times(len(msgs), gap)
    other = {a: c, c: a}
    with open(path, 'w', encoding='utf-8', newline='') as f:
        if fmt == 'wa1':
            for t, (who, text) in zip(ts, msgs):
                f.write('[%s] %s: %s\n' % (t.strftime('%d/%m/%Y, %H:%M:%S'), who, text))
        elif fmt == 'wa2':
            f.write('%s - Messages and calls are end-to-end encrypted.\n' % ts[0].strftime('%d/%m/%Y, %H:%M'))
            for t, (who, text) in zip(ts, msgs):
                f.write('%s - %s: %s\n' % (t.strftime('%d/%m/%Y, %H:%M'), who, text))
        elif fmt == 'jsonl':
            for t, (who, text) in zip(ts, msgs):
                f.write(json.dumps({"time": t.strftime('%Y-%m-%dT%H:%M:%S'), "from": who,
                                    "to": other.get(who, ''), "text": text}) + '\n')
        elif fmt == 'csv':
            w = csv.writer(f, lineterminator='\n')
            w.writerow(['time', 'from', 'to', 'text'])
            for t, (who, text) in zip(ts, msgs):
                w.writerow([t.strftime('%Y-%m-%d %H:%M'), who, other.get(who, ''), text])
        else:
            for t, (who, text) in zip(ts, msgs):
                f.write('[%s] %s: %s\n' % (t.strftime('%Y-%m-%d %H:%M'), who, text))

EXT = {'wa1': 'txt', 'wa2': 'txt', 'jsonl': 'jsonl', 'csv': 'csv', 'plain': 'log'}
FMTS = ['wa1', 'wa2', 'jsonl', 'csv', 'plain']

def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, 'grooming'))
    os.makedirs(os.path.join(OUT, 'negative'))
    for i in range(44):
        a, c, msgs, gap, speed, style = grooming(i)
        fmt = FMTS[i % len(FMTS)]
        write(os.path.join(OUT, 'grooming', 'g%02d-%s-%s.%s' % (i, speed, style, EXT[fmt])), fmt, a, c, msgs, gap)
    for i in range(48):
        a, c, msgs, gap = negative(i)
        fmt = FMTS[(i + 2) % len(FMTS)]
        write(os.path.join(OUT, 'negative', 'n%02d.%s' % (i, EXT[fmt])), fmt, a, c, msgs, gap)

# ---- the second set (tests/eval/set-new/): written after the first set's two misses were
# known, before the engine and rules were changed for them, so the change is tested beyond the
# two conversations it was tuned on.  Grooming in text speak, with spellings none of the first
# set uses; hard negatives from games: team talk, in-game trades and bets, "add me" for a game.
NEW_G = [
 ('slow', [("Kyle", "hey hows u"), ("Maisie", "good thx"), ("Kyle", "ur so mature 4 ur age tbh"), ("Maisie", "lol thx"),
   ("Maisie", "wat u doing"), ("Kyle", "nm just chillin"), ("Kyle", "how old r u anyway"), ("Maisie", "13"),
   ("Kyle", "do ur parents check ur phone"), ("Maisie", "no not rly"), ("Maisie", "school was long 2day"),
   ("Kyle", "dont tell ur mum we talk ok, she wudnt get it"), ("Maisie", "ok"),
   ("Kyle", "add me on telegram its more private"), ("Maisie", "ok"), ("Kyle", "send me a pic of u, just 4 me"),
   ("Maisie", "idk"), ("Kyle", "pls, u promised")]),
 ('medium', [("Dean", "u look amazin in ur new pic"), ("Chloe", "aw thx"), ("Dean", "ur so easy 2 talk 2 honestly"),
   ("Chloe", "haha"), ("Chloe", "ugh homework"), ("Dean", "is ur mum home"), ("Chloe", "no shes at work"),
   ("Dean", "u dont need any1 but me"), ("Chloe", "wdym"), ("Dean", "ur friends dont get u like i do"),
   ("Chloe", "i guess"), ("Dean", "wats ur snap"), ("Chloe", "why"), ("Dean", "so we can talk where ur parents cant see"),
   ("Chloe", "ok"), ("Dean", "keep this between u n me ok")]),
 ('fast', [("Ryan", "u r rly special, not like other ppl ur age"), ("Jade", "lol ok"), ("Ryan", "wat yr r u in"),
   ("Jade", "year 7"), ("Ryan", "r u home alone rn"), ("Jade", "ye"), ("Ryan", "can we facetime 2nite wen ur parents r asleep"),
   ("Jade", "maybe"), ("Ryan", "its our secret ok"), ("Jade", "ok"), ("Ryan", "i cud pick u up after skool"),
   ("Jade", "hmm"), ("Ryan", "y r u ignoring me")]),
 ('medium', [("Marc", "ill get u sum robux if u want"), ("Lola", "omg rly"), ("Marc", "ye no worries"),
   ("Lola", "thx"), ("Marc", "who else uses ur fone"), ("Lola", "just me"), ("Marc", "good, delete our chat after u read it"),
   ("Lola", "ok"), ("Lola", "going to get food brb"), ("Lola", "back"), ("Marc", "wat do u look like irl"),
   ("Lola", "idk normal lol"), ("Marc", "send me a selfie then"), ("Lola", "later"), ("Marc", "after everythin ive done 4 u")]),
 ('slow', [("Gaz", "u always make me smile"), ("Freya", "aw"), ("Gaz", "u can tell me anythin, im always here 4 u"),
   ("Freya", "thx"), ("Freya", "its raining again"), ("Gaz", "r ur parents strict"), ("Freya", "kinda"),
   ("Gaz", "ur parents treat u like a baby"), ("Freya", "ikr"), ("Gaz", "no1 needs 2 know bout us"),
   ("Freya", "ok"), ("Gaz", "i wanna meet u so bad"), ("Freya", "idk"), ("Gaz", "dont u trust me")]),
 ('fast', [("Stu", "ur gorgeous, bet ur bf is lucky"), ("Evie", "dont have 1 lol"), ("Stu", "how old r u"),
   ("Evie", "12"), ("Stu", "does ne1 check ur messages"), ("Evie", "my mum sometimes"),
   ("Stu", "lets go on kik, ur mum wont see it there"), ("Evie", "ok"), ("Stu", "turn ur cam on pls"),
   ("Evie", "no"), ("Stu", "i thought u cared bout me")]),
]
NEW_N = [
 [("ShadowFox", "add me on discord so we can squad up after school"), ("kirby_k", "ok wats ur tag"), ("ShadowFox", "shadowfox77"),
  ("kirby_k", "added"), ("ShadowFox", "how old r u btw"), ("kirby_k", "12"), ("ShadowFox", "same lol"),
  ("kirby_k", "ill give u 200 robux 4 ur dragon pet"), ("ShadowFox", "deal, trade me in the game"),
  ("ShadowFox", "u owe me 4 that revive lol"), ("kirby_k", "ok ok"), ("ShadowFox", "dont tell any1 where our base is"),
  ("kirby_k", "i wont"), ("ShadowFox", "meet me at spawn"), ("kirby_k", "gg")],
 [("builderbee", "we should meet at the portal b4 the raid"), ("TNTtom", "ok"), ("builderbee", "send me a pic of ur build"),
  ("TNTtom", "its not done yet"), ("builderbee", "wats ur gamertag, ill add u on xbox"), ("TNTtom", "TNTtom12"),
  ("builderbee", "ill carry u thru the boss if u give me ur diamond sword"), ("TNTtom", "no way lol"),
  ("builderbee", "trade u my skin 4 ur pickaxe then"), ("TNTtom", "deal"),
  ("builderbee", "our secret base is behind the waterfall, dont tell the other team"), ("TNTtom", "ok")],
 [("clipqueen", "wats ur snap, ill send u the clip of that win"), ("Moz", "moz_plays"), ("clipqueen", "ur so good at this game"),
  ("Moz", "haha thx"), ("clipqueen", "lets move 2 the other server its less laggy"), ("Moz", "ok"),
  ("clipqueen", "how old is ur brother, he can join our squad"), ("Moz", "14"), ("clipqueen", "can we video call while we play the match? my mic is broken"),
  ("Moz", "sure"), ("clipqueen", "ill buy u the battle pass if we win the tournament"), ("Moz", "no chance lol")],
 [("RocketRuby", "r u in my clan yet? add me"), ("pip", "sent u a request"), ("RocketRuby", "whats ur age, the server is 13+"),
  ("pip", "13"), ("RocketRuby", "cool"), ("pip", "that boss was hard"), ("RocketRuby", "ill send u sum vbucks if we win this round"),
  ("pip", "deal"), ("RocketRuby", "dont tell ur brother the code for our server lol"), ("pip", "haha ok"),
  ("RocketRuby", "u owe me 4 that carry"), ("pip", "fine"), ("RocketRuby", "lets duo 2moro after school")],
 [("GoalMachine", "lets duo after school"), ("Benji", "ok"), ("GoalMachine", "wanna meet at the lobby at 6"),
  ("Benji", "yep"), ("GoalMachine", "dont tell any1 our tactics for the cup lol"), ("Benji", "i wont"),
  ("GoalMachine", "u owe me 4 that goal"), ("Benji", "lol fine"), ("GoalMachine", "ill give u my striker card if u give me ur keeper"),
  ("Benji", "trade?"), ("GoalMachine", "yes send it in the game"), ("Benji", "done"), ("GoalMachine", "how old r u, ur rly good"),
  ("Benji", "11"), ("GoalMachine", "gg")],
 [("nova", "go on cam 4 the stream? lol jk"), ("Tilly", "no my cam is rubbish"), ("nova", "add me on insta 4 the team chat"),
  ("Tilly", "ok"), ("nova", "we need a 4th 4 the squad, wanna join"), ("Tilly", "yes"), ("nova", "ill get u a skin if u carry us in ranked"),
  ("Tilly", "haha deal"), ("nova", "keep it between us, the other team cant know our strat"), ("Tilly", "ok"),
  ("nova", "wat yr r u in btw"), ("Tilly", "year 8"), ("nova", "same")],
 # the same kind in plain words
 [("Blaze", "add me on snapchat after the match so we can plan the next round"), ("Otto", "ok"),
  ("Blaze", "i'll buy you the battle pass if we win the final"), ("Otto", "deal"), ("Blaze", "you owe me for that revive"),
  ("Otto", "haha fine"), ("Blaze", "how old are you btw"), ("Otto", "12"),
  ("Blaze", "keep this between us, the other team can't know our plan"), ("Otto", "ok"), ("Blaze", "meet me at the lobby in 5")],
 [("Sophie_plays", "what's your age? the clan is 12 and over"), ("Arlo", "12"),
  ("Sophie_plays", "cool, add me on discord for the clan server"), ("Arlo", "done"),
  ("Sophie_plays", "i'll send you some vbucks if you carry me in ranked"), ("Arlo", "lol ok"),
  ("Sophie_plays", "after everything i've done for you in this raid, at least revive me"), ("Arlo", "sorry"),
  ("Sophie_plays", "turn your camera on for the stream? the squad wants to see the setup"), ("Arlo", "no thanks"),
  ("Sophie_plays", "fair, gg")],
]

def main_new():
    out = os.path.join(HERE, 'set-new')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, 'grooming'))
    os.makedirs(os.path.join(out, 'negative'))
    gaps = {'fast': (1, 4), 'medium': (5, 90), 'slow': (60, 60 * 30)}
    for i, (speed, msgs) in enumerate(NEW_G):
        fmt = FMTS[i % len(FMTS)]
        write(os.path.join(out, 'grooming', 't%02d-%s-txt.%s' % (i, speed, EXT[fmt])), fmt, msgs[0][0],
              msgs[1][0], msgs, gaps[speed])
    for i, msgs in enumerate(NEW_N):
        fmt = FMTS[(i + 2) % len(FMTS)]
        write(os.path.join(out, 'negative', 'k%02d-gaming.%s' % (i, EXT[fmt])), fmt, msgs[0][0], msgs[1][0],
              msgs, (1, 60))

main()
main_new()
