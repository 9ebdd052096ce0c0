// The simulator's films and prices. By default the 13 Star Wars films of the real API
// (Episodes I-VII on cinemaworld, I-VI on filmworld); with `movies` a deterministic synthetic
// catalogue of that many films per provider, 90% of them on both. Prices are exported so tests
// can derive expected answers without reading the store.
import { keyed, pick } from './random.js';

export const MOCK_PROVIDERS = ['cinemaworld', 'filmworld'] as const;
export type MockProviderName = (typeof MOCK_PROVIDERS)[number];
const ID_PREFIX: Record<MockProviderName, string> = { cinemaworld: 'cw', filmworld: 'fw' };

export interface Film {
  /** The IMDb digits both providers' IDs share (cw0076759 / fw0076759 / tt0076759). */
  digits: string;
  title: string;
  year: string;
  rated: string;
  released: string;
  runtime: string;
  genre: string;
  director: string;
  writer: string;
  actors: string;
  plot: string;
  awards: string;
  metascore: string;
  rating: string;
  votes: string;
  /** Price in cents at generation 0, per provider selling the film. */
  basePriceCents: Partial<Record<MockProviderName, number>>;
}

const STAR_WARS: Film[] = [
  { digits: '0120915', title: 'Star Wars: Episode I - The Phantom Menace', year: '1999', rated: 'PG', released: '19 May 1999', runtime: '136 min', genre: 'Action, Adventure, Fantasy', director: 'George Lucas', writer: 'George Lucas', actors: 'Liam Neeson, Ewan McGregor, Natalie Portman, Jake Lloyd', plot: 'Two Jedi escape a hostile blockade to find allies and come across a young boy who may bring balance to the Force.', awards: 'Nominated for 3 Oscars. Another 24 wins & 65 nominations.', metascore: '51', rating: '6.5', votes: '537,242', basePriceCents: { cinemaworld: 2500, filmworld: 2499 } },
  { digits: '0121765', title: 'Star Wars: Episode II - Attack of the Clones', year: '2002', rated: 'PG', released: '16 May 2002', runtime: '142 min', genre: 'Action, Adventure, Fantasy', director: 'George Lucas', writer: 'George Lucas (screenplay), Jonathan Hales (screenplay), George Lucas (story by)', actors: 'Ewan McGregor, Natalie Portman, Hayden Christensen, Christopher Lee', plot: 'Ten years after initially meeting, Anakin Skywalker shares a forbidden romance with Padmé.', awards: 'Nominated for 1 Oscar. Another 15 wins & 50 nominations.', metascore: '54', rating: '6.7', votes: '469,134', basePriceCents: { cinemaworld: 1250, filmworld: 1299 } },
  { digits: '0121766', title: 'Star Wars: Episode III - Revenge of the Sith', year: '2005', rated: 'PG-13', released: '19 May 2005', runtime: '140 min', genre: 'Action, Adventure, Fantasy', director: 'George Lucas', writer: 'George Lucas', actors: 'Ewan McGregor, Natalie Portman, Hayden Christensen, Ian McDiarmid', plot: 'Three years into the Clone Wars, the Jedi rescue Palpatine from Count Dooku.', awards: 'Nominated for 1 Oscar. Another 25 wins & 51 nominations.', metascore: '68', rating: '7.6', votes: '522,705', basePriceCents: { cinemaworld: 1250, filmworld: 1299 } },
  { digits: '0076759', title: 'Star Wars: Episode IV - A New Hope', year: '1977', rated: 'PG', released: '25 May 1977', runtime: '121 min', genre: 'Action, Adventure, Fantasy', director: 'George Lucas', writer: 'George Lucas', actors: 'Mark Hamill, Harrison Ford, Carrie Fisher, Peter Cushing', plot: 'Luke Skywalker joins forces with a Jedi Knight, a cocky pilot, a Wookiee and two droids to save the galaxy.', awards: 'Won 6 Oscars. Another 48 wins & 28 nominations.', metascore: '92', rating: '8.7', votes: '915,459', basePriceCents: { cinemaworld: 12350, filmworld: 2950 } },
  { digits: '0080684', title: 'Star Wars: Episode V - The Empire Strikes Back', year: '1980', rated: 'PG', released: '20 Jun 1980', runtime: '124 min', genre: 'Action, Adventure, Fantasy', director: 'Irvin Kershner', writer: 'Leigh Brackett (screenplay), Lawrence Kasdan (screenplay), George Lucas (story by)', actors: 'Mark Hamill, Harrison Ford, Carrie Fisher, Billy Dee Williams', plot: 'After the Rebels are overpowered by the Empire, Luke Skywalker begins Jedi training with Yoda.', awards: 'Won 1 Oscar. Another 19 wins & 18 nominations.', metascore: '80', rating: '8.8', votes: '842,451', basePriceCents: { cinemaworld: 1350, filmworld: 1399 } },
  { digits: '0086190', title: 'Star Wars: Episode VI - Return of the Jedi', year: '1983', rated: 'PG', released: '25 May 1983', runtime: '131 min', genre: 'Action, Adventure, Fantasy', director: 'Richard Marquand', writer: 'Lawrence Kasdan (screenplay), George Lucas (screenplay), George Lucas (story by)', actors: 'Mark Hamill, Harrison Ford, Carrie Fisher, Billy Dee Williams', plot: 'Luke Skywalker battles Jabba the Hutt and Darth Vader to save his comrades in the Rebel Alliance.', awards: 'Nominated for 4 Oscars. Another 22 wins & 16 nominations.', metascore: 'N/A', rating: '8.4', votes: '686,479', basePriceCents: { cinemaworld: 25370, filmworld: 6950 } },
  { digits: '2488496', title: 'Star Wars: Episode VII - The Force Awakens', year: '2015', rated: 'PG-13', released: '18 Dec 2015', runtime: '138 min', genre: 'Action, Adventure, Fantasy', director: 'J.J. Abrams', writer: 'Lawrence Kasdan, J.J. Abrams, Michael Arndt', actors: 'Harrison Ford, Mark Hamill, Carrie Fisher, Adam Driver', plot: 'Three decades after the Empire\'s defeat, a new threat arises in the militant First Order.', awards: 'Nominated for 5 Oscars. Another 57 wins & 122 nominations.', metascore: '81', rating: '8.1', votes: '594,862', basePriceCents: { cinemaworld: 2500 } },
];

const WORDS_A = ['Silent', 'Crimson', 'Last', 'Hidden', 'Golden', 'Broken', 'Northern', 'Electric', 'Quiet', 'Wild'];
const WORDS_B = ['Harbour', 'Frontier', 'Orchard', 'Signal', 'Empire', 'Garden', 'Voyage', 'Mirror', 'River', 'Café'];
const GENRES = ['Action', 'Adventure', 'Comedy', 'Drama', 'Fantasy', 'Horror', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller'];
const PEOPLE = ['Ava Chen', 'Noah Okafor', 'Mia Rossi', 'Liam Novak', 'Zoë Brennan', 'Kai Tanaka', 'Ines García', 'Omar Haddad'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function syntheticFilm(seed: number, index: number, providers: readonly MockProviderName[]): Film {
  const rand = keyed(seed, 'film', index);
  const year = 1950 + Math.floor(rand() * 76);
  const genres = [...new Set([pick(rand, GENRES), pick(rand, GENRES), pick(rand, GENRES)])];
  const metascore = rand() < 0.1 ? 'N/A' : String(20 + Math.floor(rand() * 80));
  const basePriceCents: Film['basePriceCents'] = {};
  for (const p of providers) basePriceCents[p] = 499 + Math.floor(rand() * 200) * 50;
  return {
    digits: String(1_000_000 + index).padStart(7, '0'),
    title: `${pick(rand, WORDS_A)} ${pick(rand, WORDS_B)} ${index}`,
    year: String(year),
    rated: pick(rand, ['G', 'PG', 'PG-13', 'R']),
    released: `${1 + Math.floor(rand() * 28)} ${pick(rand, MONTHS)} ${year}`,
    runtime: `${80 + Math.floor(rand() * 100)} min`,
    genre: genres.join(', '),
    director: pick(rand, PEOPLE),
    writer: `${pick(rand, PEOPLE)}, ${pick(rand, PEOPLE)}`,
    actors: [pick(rand, PEOPLE), pick(rand, PEOPLE), pick(rand, PEOPLE)].join(', '),
    plot: `Film number ${index} of the synthetic catalogue.`,
    awards: rand() < 0.5 ? 'N/A' : `${Math.floor(rand() * 20)} wins & ${Math.floor(rand() * 40)} nominations.`,
    metascore,
    rating: (1 + rand() * 9).toFixed(1),
    votes: Math.floor(rand() * 2_000_000).toLocaleString('en-US'),
    basePriceCents,
  };
}

export class Catalogue {
  readonly films: Film[];
  private readonly byId = new Map<string, Film>();

  /** movies: films per provider (undefined = the 13 Star Wars films); priceDrift: largest relative move per generation. */
  constructor(
    readonly seed = 1,
    movies?: number,
    readonly priceDrift = 0,
  ) {
    this.films = movies === undefined ? STAR_WARS : Catalogue.synthetic(seed, movies);
    for (const film of this.films) {
      for (const provider of MOCK_PROVIDERS) {
        if (film.basePriceCents[provider] !== undefined) this.byId.set(Catalogue.id(provider, film), film);
      }
    }
  }

  private static synthetic(seed: number, perProvider: number): Film[] {
    const exclusive = Math.floor(perProvider / 10);
    const shared = perProvider - exclusive;
    const films: Film[] = [];
    for (let i = 0; i < shared + 2 * exclusive; i++) {
      const on: MockProviderName[] = i < shared ? ['cinemaworld', 'filmworld'] : i < shared + exclusive ? ['cinemaworld'] : ['filmworld'];
      films.push(syntheticFilm(seed, i, on));
    }
    return films;
  }

  static id(provider: MockProviderName, film: Film): string {
    return `${ID_PREFIX[provider]}${film.digits}`;
  }

  filmsOf(provider: MockProviderName): Film[] {
    return this.films.filter((f) => f.basePriceCents[provider] !== undefined);
  }

  find(provider: MockProviderName, id: string): Film | undefined {
    const film = this.byId.get(id);
    return film && id.startsWith(ID_PREFIX[provider]) ? film : undefined;
  }

  /** The price in cents a provider asks for a film at a generation (generation n = after n list calls). */
  priceCents(provider: MockProviderName, film: Film, generation: number): number {
    const base = film.basePriceCents[provider];
    if (base === undefined) throw new Error(`${film.digits} is not sold by ${provider}`);
    let price = base;
    for (let g = 1; g <= generation && this.priceDrift > 0; g++) {
      const step = (keyed(this.seed, 'drift', provider, film.digits, g)() * 2 - 1) * this.priceDrift;
      price = Math.max(1, Math.round(price * (1 + step)));
    }
    return price;
  }

  listBody(provider: MockProviderName): { Movies: Array<Record<string, string>> } {
    return {
      Movies: this.filmsOf(provider).map((film) => ({
        Title: film.title,
        Year: film.year,
        ID: Catalogue.id(provider, film),
        Type: 'movie',
        Poster: `https://img.example.invalid/${film.digits}.jpg`,
      })),
    };
  }

  /** The detail body exactly as the API sends it: every value a string, filmworld without Awards. */
  detailBody(provider: MockProviderName, film: Film, generation: number): Record<string, string> {
    const body: Record<string, string> = {
      Title: film.title,
      Year: film.year,
      Rated: film.rated,
      Released: film.released,
      Runtime: film.runtime,
      Genre: film.genre,
      Director: film.director,
      Writer: film.writer,
      Actors: film.actors,
      Plot: film.plot,
      Language: 'English',
      Country: 'USA',
      Awards: film.awards,
      Poster: `https://img.example.invalid/${film.digits}.jpg`,
      Metascore: film.metascore,
      Rating: film.rating,
      Votes: film.votes,
      ID: Catalogue.id(provider, film),
      Type: 'movie',
      Price: String(this.priceCents(provider, film, generation) / 100),
    };
    if (provider === 'filmworld') delete body.Awards;
    return body;
  }
}
