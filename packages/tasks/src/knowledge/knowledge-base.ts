import { createRandom, type Random } from '@arpo/core';

/** One searchable document of the generated corpus. */
export interface KnowledgeDocument {
  id: string;
  title: string;
  text: string;
}

export interface Person {
  name: string;
  city: string;
}

export interface City {
  name: string;
  country: string;
}

export interface KnowledgeBase {
  people: Person[];
  cities: City[];
  countries: string[];
  documents: KnowledgeDocument[];
}

const onsets = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'st', 'tr', 'kl'];
const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ei', 'ou'];
const codas = ['', '', 'n', 'r', 'l', 's', 'm', 'th'];

function word(random: Random, syllables: number): string {
  let text = '';
  for (let index = 0; index < syllables; index++) {
    text +=
      (onsets[random.integer(onsets.length)] as string) + (vowels[random.integer(vowels.length)] as string);
  }
  text += codas[random.integer(codas.length)] as string;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function uniqueNames(count: number, make: () => string, taken: Set<string>): string[] {
  const names: string[] = [];
  while (names.length < count) {
    const name = make();
    if (taken.has(name)) continue;
    taken.add(name);
    names.push(name);
  }
  return names;
}

export interface KnowledgeBaseOptions {
  seed: number;
  people?: number;
  cities?: number;
  countries?: number;
}

/**
 * A fictional world (invented names, so no model can know the answers in advance): people born in cities,
 * cities located in countries. One document per person and per city, written so that searching for a name
 * ranks that name's document first.
 */
export function generateKnowledgeBase(options: KnowledgeBaseOptions): KnowledgeBase {
  const random = createRandom({ seed: options.seed }).derive('knowledge-base');
  const taken = new Set<string>();
  const countries = uniqueNames(options.countries ?? 12, () => `${word(random, 2)}ia`, taken);
  const cityNames = uniqueNames(options.cities ?? 40, () => word(random, 2), taken);
  const cities = cityNames.map((name) => ({
    name,
    country: countries[random.integer(countries.length)] as string,
  }));
  const personNames = uniqueNames(
    options.people ?? 400,
    () => `${word(random, 2)} ${word(random, 2)}`,
    taken,
  );
  const people = personNames.map((name) => ({
    name,
    city: (cities[random.integer(cities.length)] as City).name,
  }));
  const documents: KnowledgeDocument[] = [
    ...people.map((person, index) => ({
      id: `person-${index}`,
      title: person.name,
      text: `${person.name} is a person. ${person.name} was born in ${person.city}.`,
    })),
    ...cities.map((city, index) => ({
      id: `city-${index}`,
      title: city.name,
      text: `${city.name} is a city. ${city.name} is located in ${city.country}.`,
    })),
  ];
  return { people, cities, countries, documents };
}
