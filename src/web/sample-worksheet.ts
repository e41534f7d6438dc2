import type { Worksheet } from '../client/index.js';

/** What the page offers before the teacher pastes their own: four picture placeholders over two pages. */
export const SAMPLE_WORKSHEET: Worksheet = {
  title: 'Counting with animals',
  pages: [
    {
      elements: [
        { type: 'text', text: 'How many apples does the elephant have?' },
        { type: 'image', prompt: 'A friendly cartoon elephant counting apples', width: 512, height: 512 },
        { type: 'image', prompt: 'Three red apples on a wooden table', width: 384, height: 256, seed: 7 },
      ],
    },
    {
      elements: [
        { type: 'text', text: 'Circle the animal that can fly.' },
        { type: 'image', prompt: 'A blue bird flying over a meadow', width: 384, height: 384 },
        { type: 'image', prompt: 'A turtle walking along a sandy beach', width: 448, height: 320, seed: 3 },
      ],
    },
  ],
};
